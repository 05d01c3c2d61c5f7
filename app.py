"""Gatehouse: the Chalice application. Routes and Lambda function declarations only; all logic is in chalicelib."""

from chalice import Chalice

app = Chalice(app_name="gatehouse")
app.debug = False
