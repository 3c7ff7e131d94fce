"""The sandbox for environment code: guard, fork server, OS layer (bubblewrap, namespaces, seccomp), runtime."""
