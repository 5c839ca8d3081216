"""Background jobs: in-process on the embedded default, a PostgreSQL job queue when scaled out."""
