// Package hacktest holds the tests of the hack/ shell scripts. Each test runs bash on one
// function or subcommand in isolation (engine.sh and deps.sh define their functions and
// run nothing when sourced), so a script's failure paths are checked without provisioning
// an engine, installing packages or touching the host's network: everything that needs
// root runs inside a network namespace of its own (unshare -n).
package hacktest
