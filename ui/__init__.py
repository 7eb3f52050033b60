"""The Gradio web UI (``rag serve``): see ui.app."""
