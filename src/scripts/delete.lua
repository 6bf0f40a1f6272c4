-- Deletes one document of a model with indexes: its index entries (from the stored
-- values), every key, and its id index entry, atomically.
--
-- The document's delete arguments (doc.lua's parse_delete).
--
-- Reply: 1 when the document existed, 0 otherwise.

return delete_doc(parse_delete())
