"""gRPC servicer, declared policy, the delivery dispatcher and the ServiceDefinition."""
