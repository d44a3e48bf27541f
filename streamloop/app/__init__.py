"""The top layer below the command line: what drives the whole product (build, train, demo, UI)."""
