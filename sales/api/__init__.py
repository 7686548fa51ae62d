"""REST API of the sales app: leads, opportunities, products, orders, activities and costs."""
