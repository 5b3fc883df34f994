"""The head service of a cluster: node registry, failure detection, actor directory, names."""
