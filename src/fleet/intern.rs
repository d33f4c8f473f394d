//! String interning for the index (namespaces, node names, hashes, reasons).
