package schema

import "strings"

// Suggest returns the candidate closest to name, or "" when none is close
// enough to be a likely typo. It is used for "did you mean …" hints.
func Suggest(name string, candidates []string) string {
	best, bestDist := "", 0
	lname := strings.ToLower(name)
	for _, c := range candidates {
		if strings.ToLower(c) == lname {
			return c
		}
		d := editDistance(lname, strings.ToLower(c))
		limit := 2
		if len(c) > 8 {
			limit = 3
		}
		if d <= limit && (best == "" || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment), so a swapped pair of letters ("preemtp") costs one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

func didYouMean(name string, candidates []string) string {
	if s := Suggest(name, candidates); s != "" {
		return " Did you mean \"" + s + "\"?"
	}
	return ""
}
