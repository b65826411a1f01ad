"""Services the API and the CLI share: intake, review, moderation and admin."""
