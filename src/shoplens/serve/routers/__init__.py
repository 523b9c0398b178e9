"""One router per domain; each is included by `shoplens.serve.app.create_app`."""
