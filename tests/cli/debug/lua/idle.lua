local waited = "not yet"
sleep(3600)
waited = "yes"
