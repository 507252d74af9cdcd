-- ListBonuses (operators): every client's bonuses, or one client's, newest first.
CREATE INDEX bonuses_newest ON bonuses (granted_at, bonus_id);
CREATE INDEX bonuses_of_client ON bonuses (client_id, granted_at, bonus_id);
