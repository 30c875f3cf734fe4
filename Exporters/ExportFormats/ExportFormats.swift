// ExportFormats: see DESIGN.md. Filled in by the converter issue.
