"""OData contracts examrig serves: CSDL documents, their parsed model, and a JSON Light response checker."""
