// A fragment of every Go test harness codebabel writes (languages/go.py), kept here as real
// Go code. languages/render.py's harness_code reads it: each part runs from its
// `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
// languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
// helpers: __cb_ptr (a pointer to a literal), __cb_eq (by reflection: numbers by value, floats within the
// tolerance, slices, maps and structs element by element) and __cb_check, before func main.

// codebabel-part: helpers
func __cb_ptr[T any](v T) *T {
	return &v
}

func __cb_num(v reflect.Value) (float64, bool, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint()), true, true
	case reflect.Float32, reflect.Float64:
		return v.Float(), false, true
	}
	return 0, false, false
}

func __cb_istr(v reflect.Value) string {
	if v.CanInt() {
		return strconv.FormatInt(v.Int(), 10)
	}
	return strconv.FormatUint(v.Uint(), 10)
}

func __cb_eq(a, b reflect.Value) bool {
	for a.IsValid() && (a.Kind() == reflect.Ptr || a.Kind() == reflect.Interface) {
		if a.IsNil() {
			a = reflect.Value{}
		} else {
			a = a.Elem()
		}
	}
	for b.IsValid() && (b.Kind() == reflect.Ptr || b.Kind() == reflect.Interface) {
		if b.IsNil() {
			b = reflect.Value{}
		} else {
			b = b.Elem()
		}
	}
	if !a.IsValid() || !b.IsValid() {
		return !a.IsValid() && !b.IsValid()
	}
	if x, xi, ok := __cb_num(a); ok {
		y, yi, ok := __cb_num(b)
		if !ok {
			return false
		}
		if xi && yi {
			return __cb_istr(a) == __cb_istr(b)
		}
		return x == y || math.Abs(x-y) < @FLOAT_TOLERANCE@
	}
	ak, bk := a.Kind(), b.Kind()
	if (ak == reflect.Slice || ak == reflect.Array) && (bk == reflect.Slice || bk == reflect.Array) {
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !__cb_eq(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	}
	if ak == reflect.Map && bk == reflect.Map {
		if a.Len() != b.Len() {
			return false
		}
		bkeys := b.MapKeys()
		for _, ka := range a.MapKeys() {
			found := false
			for _, kb := range bkeys {
				if __cb_eq(ka, kb) {
					if !__cb_eq(a.MapIndex(ka), b.MapIndex(kb)) {
						return false
					}
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	if ak == reflect.Struct && bk == reflect.Struct && a.NumField() == b.NumField() {
		for i := 0; i < a.NumField(); i++ {
			if !__cb_eq(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	if ak != bk {
		return false
	}
	switch ak {
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	}
	return a.CanInterface() && b.CanInterface() && reflect.DeepEqual(a.Interface(), b.Interface())
}

func __cb_check(actual interface{}, expected interface{}, i int) {
	if !__cb_eq(reflect.ValueOf(actual), reflect.ValueOf(expected)) {
		fmt.Fprintf(os.Stderr, "@ASSERT_MARKER@ test %d: got %v, want %v\n", i, actual, expected)
		os.Exit(1)
	}
}
