"""The embeddable billing portal: a web component served as static files, and its config."""
