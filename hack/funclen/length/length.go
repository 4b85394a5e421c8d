// Package length measures Go functions (declarations and literals) in source files.
package length

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Func is one function and its length in lines.
type Func struct {
	File  string
	Line  int
	Name  string
	Lines int
}

// Source measures every function of one file's source (none of a generated file). A literal is named after the
// function it is written in and what it is assigned to: newBuildCmd.RunE for
// `RunE: func(...)` in newBuildCmd, newBuildCmd.func@57 when it is bare.
func Source(filename string, src []byte) ([]Func, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, filename, src, parser.SkipObjectResolution|parser.ParseComments)
	if err != nil {
		return nil, err
	}
	if ast.IsGenerated(file) { // nobody edits it, so its lengths are nobody's to fix
		return nil, nil
	}
	var funcs []Func
	add := func(name string, from, to token.Pos) {
		start, end := fset.Position(from), fset.Position(to)
		funcs = append(funcs, Func{File: filename, Line: start.Line, Name: name, Lines: end.Line - start.Line + 1})
	}
	for _, decl := range file.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil && len(fd.Recv.List) == 1 {
			name = receiverName(fd.Recv.List[0].Type) + "." + name
		}
		add(name, fd.Pos(), fd.End())
		literals(fset, fd.Body, name, func(lit string, fl *ast.FuncLit) { add(lit, fl.Pos(), fl.End()) })
	}
	// Literals at package level (var x = func...) belong to no declaration.
	for _, decl := range file.Decls {
		if gd, ok := decl.(*ast.GenDecl); ok {
			literals(fset, gd, "var", func(lit string, fl *ast.FuncLit) { add(lit, fl.Pos(), fl.End()) })
		}
	}
	return funcs, nil
}

// literals calls found for every function literal under n that is not inside another
// literal (those are measured as part of theirs and then on their own).
func literals(fset *token.FileSet, n ast.Node, outer string, found func(string, *ast.FuncLit)) {
	named := map[*ast.FuncLit]string{}
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.KeyValueExpr:
			if fl, ok := x.Value.(*ast.FuncLit); ok {
				if id, ok := x.Key.(*ast.Ident); ok {
					named[fl] = id.Name
				}
			}
		case *ast.AssignStmt:
			for i, rhs := range x.Rhs {
				if fl, ok := rhs.(*ast.FuncLit); ok && i < len(x.Lhs) {
					if id, ok := x.Lhs[i].(*ast.Ident); ok {
						named[fl] = id.Name
					}
				}
			}
		case *ast.ValueSpec:
			for i, v := range x.Values {
				if fl, ok := v.(*ast.FuncLit); ok && i < len(x.Names) {
					named[fl] = x.Names[i].Name
				}
			}
		case *ast.FuncLit:
			name := named[x]
			if name == "" {
				name = fmt.Sprintf("func@%d", fset.Position(x.Pos()).Line)
			}
			found(outer+"."+name, x)
			literals(fset, x.Body, outer+"."+name, found)
			return false
		}
		return true
	})
}

func receiverName(t ast.Expr) string {
	switch x := t.(type) {
	case *ast.StarExpr:
		return receiverName(x.X)
	case *ast.IndexExpr:
		return receiverName(x.X)
	case *ast.IndexListExpr:
		return receiverName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return "?"
}

// Dirs measures the non-test Go files of each directory; "dir/..." takes the tree under
// dir too, leaving out testdata, vendor and hidden directories, and never following a
// symlink out of it.
func Dirs(patterns []string) ([]Func, error) {
	var funcs []Func
	for _, p := range patterns {
		dir, recursive := strings.CutSuffix(p, "/...")
		info, err := os.Lstat(dir)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", dir)
		}
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path == dir {
					return nil
				}
				name := d.Name()
				if !recursive || name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fs, err := Source(path, src)
			if err != nil {
				return err
			}
			funcs = append(funcs, fs...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return funcs, nil
}

// Over returns the functions longer than max, longest first (then by file and line).
func Over(funcs []Func, max int) []Func {
	var over []Func
	for _, f := range funcs {
		if f.Lines > max {
			over = append(over, f)
		}
	}
	sort.Slice(over, func(i, j int) bool {
		a, b := over[i], over[j]
		if a.Lines != b.Lines {
			return a.Lines > b.Lines
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return over
}
