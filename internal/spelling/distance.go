// Package spelling says how far a word is from another, for "did you mean" errors
// about misspelt keys and comments in the files users write (manifests, fragments).
package spelling

// Distance is the Levenshtein distance between a and b, counted in bytes: the keys
// and phrases it compares are ASCII. Strings over 64 bytes are never a typo of a
// short known word, and comparing them would cost len(a)*len(b): they get a
// distance larger than any real one.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
