//go:build race

package residue

// RaceEnabled reports a -race build; see AssertNone.
const RaceEnabled = true
