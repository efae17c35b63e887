"""The customs callback (contract section 4): SubmitControlResult, called through the outbox."""
