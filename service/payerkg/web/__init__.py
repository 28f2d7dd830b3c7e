"""The web pages: server-rendered HTML (Jinja2 templates and one style sheet shipped in this
package) over the same service layer as the JSON API and the CLI. A page parses its query, calls
``payerkg.services`` or a catalog look-up, and renders; it holds no rule logic."""
