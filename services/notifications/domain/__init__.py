"""The notifications service's pure rules: who is told (recipients), what they are told
(messages), what is due (reminders), how webhooks are signed (signing) and when a failed
delivery is retried (retry). No Kafka, database or web here."""
