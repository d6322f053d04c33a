// Package deploy holds the container image (Dockerfile, rootfs/) and the
// Kubernetes manifests (kubernetes/) of insider-import, and the test that
// renders every kustomize overlay, decodes each object strictly into the
// Kubernetes API types and checks the invariants the binary relies on.
//
// It is a module of its own so that the Kubernetes and kustomize libraries
// stay out of the importer's dependencies; `make test` runs it.
package deploy
