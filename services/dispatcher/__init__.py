"""The dispatcher: tasks, submissions, reviews and every deadline (TaskService)."""
