"""The kiosk's screens: login, enrolment, meeting labeling, admin."""
