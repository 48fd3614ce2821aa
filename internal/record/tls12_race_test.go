//go:build race

package record

// raceBuild reports a -race build, where the race instrumentation makes
// some standard library code allocate that otherwise does not.
const raceBuild = true
