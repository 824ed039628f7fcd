"""A university's credit consumer: EngagementCompleted from applications.v1, a verified
completion record, one credit line per record in a CSV file."""
