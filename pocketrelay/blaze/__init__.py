"""blaze"""
