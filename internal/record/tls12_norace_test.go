//go:build !race

package record

// raceBuild reports a -race build; see tls12_race_test.go.
const raceBuild = false
