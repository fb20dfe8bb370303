"""The web side of the box: the app factory, views, templates, static files, media serving."""
