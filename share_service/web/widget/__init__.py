"""The embeddable widget: its served files, /embed and the /demo article."""
