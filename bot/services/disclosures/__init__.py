"""The disclosure register (党务公开): what units must publish, its seven steps, and what the
publications draw.

The package in the order its modules build on each other:

- :mod:`.rights` — who drafts, reviews, signs and reads, from the database on every press;
- :mod:`.steps` — steps 1–3: the draft, the committee's review with its quorum, the head's
  sign-off, each an event of the trail;
- :mod:`.publishing` — step 4: the number, the frozen version, the posts, the party
  members' copies, the forms confirmed, the obligation met;
- :mod:`.texts` — what people are told, and the notice-board poster;
- :mod:`.duties` — the obligations and their alarm ladder;
- :mod:`.archive` — steps 5–7 as people meet them: the catalog, the archive and its search,
  the opinions and their answers, a pre-disclosure's rulings.
"""
