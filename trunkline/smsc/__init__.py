"""The SMSCs an organization sends through: SMPP 3.4 connections (ESME side), routes, delivery receipts."""
