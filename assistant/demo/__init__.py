"""`assistant demo`: one full cycle on the embedded defaults against the bundled sandboxes."""
