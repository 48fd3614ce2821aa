package holdfast

import (
	"reflect"
	"testing"
)

// Every exported Config field survives Clone: each is set to a non-zero
// value through reflection, so a field added later and forgotten in Clone
// fails here.
func TestConfigCloneCopiesEverySetting(t *testing.T) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		setNonZero(t, v.Type().Field(i).Name, f)
	}
	cl := reflect.ValueOf(c.Clone()).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if !v.Type().Field(i).IsExported() {
			continue
		}
		if cl.Field(i).IsZero() {
			t.Errorf("Clone drops Config.%s", name)
			continue
		}
		if k := cl.Field(i).Kind(); k == reflect.Slice && cl.Field(i).Len() > 0 && cl.Field(i).Index(0).Addr().Pointer() == v.Field(i).Index(0).Addr().Pointer() {
			t.Errorf("Clone shares Config.%s's backing array", name)
		}
	}
}

// setNonZero gives f some non-zero value of its type.
func setNonZero(t *testing.T, name string, f reflect.Value) {
	switch f.Kind() {
	case reflect.Bool:
		f.SetBool(true)
	case reflect.Int, reflect.Int64:
		f.SetInt(3)
	case reflect.Uint16:
		f.SetUint(3)
	case reflect.String:
		f.SetString("x")
	case reflect.Slice:
		f.Set(reflect.MakeSlice(f.Type(), 1, 1))
	case reflect.Pointer:
		f.Set(reflect.New(f.Type().Elem()))
	case reflect.Func:
		f.Set(reflect.MakeFunc(f.Type(), func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, f.Type().NumOut())
			for i := range out {
				out[i] = reflect.Zero(f.Type().Out(i))
			}
			return out
		}))
	case reflect.Interface:
		// An io.Writer or io.Reader: any value that implements it.
		f.Set(reflect.ValueOf(&nopRW{}))
	default:
		t.Fatalf("Config.%s: kind %v has no test value", name, f.Kind())
	}
}

type nopRW struct{}

func (*nopRW) Read(p []byte) (int, error)  { return len(p), nil }
func (*nopRW) Write(p []byte) (int, error) { return len(p), nil }
