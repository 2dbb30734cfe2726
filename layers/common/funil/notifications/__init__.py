"""The seller's notifications in Telegram: admin chats, sale/refund/alert notices, daily and weekly reports."""
