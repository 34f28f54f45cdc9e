"""Aggregation: follow external feeds, fetch them politely, parse, store, show by topic.

fetch.py is the only aiohttp client, parse.py the only feedparser user; the
rest (guard, schedule, opml, discover, cycle) is plain Python around them.
"""
