//! (placeholder) Widgets: pure render functions of &App.
