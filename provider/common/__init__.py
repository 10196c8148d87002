"""What both Lambda functions share: the crhelper boundary, responses, logging, time budget."""
