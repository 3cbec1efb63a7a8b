"""Client-side scanning (mode ``css``): docs/css.md."""
