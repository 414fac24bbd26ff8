// autocannon ships no types; the bridges bench uses only its documented options and result fields.
declare module 'autocannon'
