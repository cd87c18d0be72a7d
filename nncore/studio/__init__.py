"""NN Studio services shared by the dashboard's pages (pure Python, no Streamlit)."""
