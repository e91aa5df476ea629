package errs

// defaultRegistry is the registry behind the package-level functions. It is
// the one piece of global state in idemkit: applications fill it from init
// functions or main, before serving.
var defaultRegistry = NewRegistry()

// Default returns the default registry used by [Register], [RegisterType],
// [Resolve], [Explain] and by httpx.WriteError.
func Default() *Registry { return defaultRegistry }

// Register maps the sentinel target to status, code and public message in
// the default registry; see [Registry.Register] for the matching rule.
//
// Register panics when target is already registered or the arguments are
// invalid: call it from init or main, where a duplicate is a programming
// error that must stop the program. Use [Registry.Register] to get the
// error instead.
func Register(target error, status int, code, message string) {
	if err := defaultRegistry.Register(target, status, code, message); err != nil {
		panic(err)
	}
}

// RegisterType maps every error of type T in the default registry; see
// [RegisterTypeIn] for the matching rule. Like [Register] it panics on a
// duplicate or invalid registration.
func RegisterType[T error](status int, code string, describe func(T) (message string, details map[string]string)) {
	if err := RegisterTypeIn(defaultRegistry, status, code, describe); err != nil {
		panic(err)
	}
}

// Resolve resolves err with the default registry; see [Registry.Resolve].
func Resolve(err error) Resolution { return defaultRegistry.Resolve(err) }

// Explain explains err's resolution by the default registry; see
// [Registry.Explain].
func Explain(err error) string { return defaultRegistry.Explain(err) }
