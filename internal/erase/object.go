package erase

import (
	"reflect"
	"unsafe"
)

// Object wipes, in place, the object p points to: the key schedule inside
// a crypto/aes block or a GCM, which the standard library keeps in heap
// objects it never wipes. It wipes only objects that hold no pointers (so
// nothing it clears can corrupt a structure the runtime or another object
// depends on) and reports whether it did. The caller must make sure
// nothing uses the object any more.
//
// This reaches past the standard library's encapsulation on purpose: it is
// how the default build keeps the promise that a key is gone once dropped.
// The residue tests check that it still finds every copy after a Go
// upgrade; GOEXPERIMENT=runtimesecret does the same job without it.
func Object(p any) bool {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return false
	}
	t := v.Type().Elem()
	if hasPointers(t) {
		return false
	}
	clear(unsafe.Slice((*byte)(v.UnsafePointer()), t.Size()))
	return true
}

// hasPointers reports whether values of t contain anything the garbage
// collector follows.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
