//! Templates: the Go `text/template` engine ([`go`]) that renders atmos' Go templates in stack
//! manifests. The engine is a primitive: it owns parsing, execution, Go's formatting and the
//! sprig/gomplate function set, and knows nothing about stacks, components or sections.

pub mod go;
