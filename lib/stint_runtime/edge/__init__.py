"""The development edge: HTTP/JSON (google.api.http transcoding) and gRPC-Web in front of the
services' gRPC ports, what Envoy does in Kubernetes (deploy/k8s/components/edge)."""
