"""Analytics: the funnel counted from the table's stream, ad spend, traffic quality and each sale's trace."""
