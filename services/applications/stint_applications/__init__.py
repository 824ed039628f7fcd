"""Applications service: from a student's application through delivery, review and feedback."""
