/* postgres_latdiag--1.4--1.5.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.5'" to load this file. \quit

-- ------------------------------------------------------------------------
-- Who sent it: per-source aggregates (issue 15).
-- ------------------------------------------------------------------------

-- ------------------------------------------------------------------------
-- Diagnosis: query shapes, tail snapshots, ranked findings (issue 16).
-- ------------------------------------------------------------------------
